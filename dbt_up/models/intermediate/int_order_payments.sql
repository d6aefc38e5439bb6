-- Private to the finance group: payments aggregated per order.
select
    order_id,
    cast(sum(amount_cents) as bigint) as amount_cents,
    cast(count(*) as integer) as payment_count
from {{ ref('stg_payments') }}
group by order_id
