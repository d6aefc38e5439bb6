-- Unpinned ref to a versioned model: resolves to the latest version (public_customers v2).
with customers as (
    select * from {{ ref('dbt_up', 'public_customers') }}
),

orders as (
    select * from {{ ref('dbt_up', 'public_orders') }}
)

select
    customers.customer_id,
    customers.full_name,
    customers.email,
    count(orders.order_id) as order_count,
    coalesce(sum(orders.amount), 0) as total_amount,
    max(orders.order_date) as last_order_date
from customers
left join orders on customers.customer_id = orders.customer_id
group by 1, 2, 3
