select
    cast(order_id as integer) as order_id,
    cast(customer_id as integer) as customer_id,
    cast(status as varchar(20)) as status,
    cast(amount as decimal(18, 2)) as amount
from {{ ref('stg_orders') }}
