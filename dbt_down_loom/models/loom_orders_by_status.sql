-- Cross-project ref resolved by dbt-loom from dbt_up's published contract.
select
    status,
    count(*) as order_count,
    sum(amount) as total_amount
from {{ ref('dbt_up', 'public_orders') }}
group by 1
