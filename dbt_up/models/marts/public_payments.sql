select
    cast(payment_id as integer) as payment_id,
    cast(order_id as integer) as order_id,
    cast(payment_method as varchar) as payment_method,
    cast(amount_cents / 100.0 as decimal(18, 2)) as amount
from {{ ref('stg_payments') }}
