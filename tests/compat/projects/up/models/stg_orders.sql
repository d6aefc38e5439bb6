{{ config(materialized='view') }}
select 1 as order_id, 10 as customer_id, 'placed' as status, 12.5 as amount
