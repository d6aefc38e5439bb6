select
    region_name,
    sum(amount) as total_revenue
from {{ ref('finance_mid', 'revenue_daily') }}
group by region_name
