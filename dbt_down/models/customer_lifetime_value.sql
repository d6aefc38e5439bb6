-- source('dbt_up', 'public_customers') points at the latest version (public_customers_v2).
with customers as (
    select * from {{ source('dbt_up', 'public_customers') }}
),

orders as (
    select * from {{ source('dbt_up', 'public_orders') }}
)

select
    customers.customer_id,
    customers.full_name,
    customers.first_order_date,
    count(orders.order_id) as order_count,
    coalesce(sum(orders.amount) filter (where orders.status <> 'returned'), 0) as lifetime_value
from customers
left join orders on customers.customer_id = orders.customer_id
group by 1, 2, 3
