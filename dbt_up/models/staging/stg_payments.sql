select
    cast(id as integer) as payment_id,
    cast(order_id as integer) as order_id,
    payment_method,
    cast(amount as integer) as amount_cents
from {{ ref('raw_payments') }}
