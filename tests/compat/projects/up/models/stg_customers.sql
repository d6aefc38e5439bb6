{{ config(materialized='view') }}
select 10 as customer_id, 'Ada' as first_name, 'Lovelace' as last_name
