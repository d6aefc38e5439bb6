-- Staging: passes the upstream's columns on, renamed where the team prefers its own words.
select
    order_id,
    region_id,
    order_date as sold_on,
    amount
from {{ ref('sales_core', 'orders') }}
