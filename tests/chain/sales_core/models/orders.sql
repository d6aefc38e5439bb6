select
    cast(order_id as integer) as order_id,
    cast(region_id as integer) as region_id,
    cast(order_date as date) as order_date,
    cast(amount as decimal(18,2)) as amount,
    cast(discount as decimal(18,2)) as discount
from {{ ref('raw_orders') }}
