with

payments as (

    select * from {{ ref('stg_payments__payments') }}

),

rates as (

    select * from {{ ref('int_fx_rates__daily') }}

),

final as (

    select
        payments.payment_id,
        payments.order_id,
        payments.payment_method,
        payments.payment_method_group,
        payments.payment_status,
        payments.is_captured,
        payments.is_failed,
        payments.is_pending,
        payments.amount,
        payments.refunded_amount,
        payments.currency,
        rates.reporting_rate,
        {{ to_reporting_currency('payments.amount', 'rates.reporting_rate') }} as amount_reporting,
        {{ to_reporting_currency('payments.refunded_amount', 'rates.reporting_rate') }}
            as refunded_amount_reporting,
        payments.failure_reason,
        payments.created_at,
        payments.created_date,
        payments.updated_at,
        payments.loaded_at,
        rates.loaded_at as rate_loaded_at
    from payments
    -- A payment converts at the rate of its own day; without one it keeps its place, and a test names it.
    left join rates
        on
            payments.currency = rates.currency
            and payments.created_date = rates.date_day

)

select * from final
