-- v2 (latest): first_name / last_name replaced by full_name.
with customers as (
    select * from {{ ref('stg_customers') }}
),

customer_orders as (
    select
        customer_id,
        min(order_date) as first_order_date,
        count(*) as number_of_orders
    from {{ ref('stg_orders') }}
    group by customer_id
)

select
    cast(customers.customer_id as integer) as customer_id,
    cast(customers.first_name || ' ' || customers.last_name as varchar) as full_name,
    cast(customers.email as varchar) as email,
    cast(customer_orders.first_order_date as date) as first_order_date,
    cast(coalesce(customer_orders.number_of_orders, 0) as integer) as number_of_orders
from customers
left join customer_orders on customers.customer_id = customer_orders.customer_id
