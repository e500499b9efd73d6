{{ config(unique_key='order_id') }}

with

source as (

    select * from {{ source('shop', 'orders') }}
    {{ changed_keys(source('shop', 'orders'), 'order_id') }}

),

reporting_rates as (

    {{ reporting_rates() }}

),

order_statuses as (

    select * from {{ ref('order_statuses') }}

),

latest as (

    {{ latest_row_per_key('source', 'order_id') }}

),

rated as (

    -- Left joins: an unknown currency or status keeps its order and fails a test, never vanishes.
    select
        latest.*,
        order_statuses.is_valid_order,
        reporting_rates.reporting_rate
    from latest
    left join reporting_rates
        on upper(latest.currency) = reporting_rates.currency
    left join order_statuses
        on lower(trim(latest.order_status)) = order_statuses.order_status

),

final as (

    select
        order_id,
        customer_id,
        lower(trim(order_status)) as order_status,
        is_valid_order,
        coalesce(lower(trim(channel)), 'unknown') as channel,
        upper(currency) as currency,
        subtotal_amount,
        discount_amount,
        shipping_amount,
        tax_amount,
        total_amount,
        reporting_rate,
        {{ to_reporting_currency('subtotal_amount', 'reporting_rate') }} as subtotal_amount_reporting,
        {{ to_reporting_currency('discount_amount', 'reporting_rate') }} as discount_amount_reporting,
        {{ to_reporting_currency('total_amount', 'reporting_rate') }} as total_amount_reporting,
        ordered_at,
        {{ utc_date('ordered_at') }} as ordered_date,
        updated_at,
        _loaded_at as loaded_at
    from rated

)

select * from final
