-- Reads dbt_up's public_orders through the generated source.
select
    status,
    count(*) as order_count,
    sum(amount) as total_amount
from {{ source('dbt_up', 'public_orders') }}
group by 1
