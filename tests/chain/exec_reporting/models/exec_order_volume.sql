select
    order_date,
    sum(order_count) as orders
from {{ ref('finance_mid', 'revenue_daily') }}
group by order_date
