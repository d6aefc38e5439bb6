with orders as (
    select * from {{ ref('stg_orders') }}
),

payments as (
    -- private model of the finance group (same group as this model)
    select * from {{ ref('int_order_payments') }}
)

select
    cast(orders.order_id as integer) as order_id,
    cast(orders.customer_id as integer) as customer_id,
    cast(orders.order_date as date) as order_date,
    cast(orders.status as varchar) as status,
    cast(coalesce(payments.amount_cents, 0) / 100.0 as decimal(18, 2)) as amount,
    cast(coalesce(payments.payment_count, 0) as integer) as payment_count
from orders
left join payments on orders.order_id = payments.order_id
