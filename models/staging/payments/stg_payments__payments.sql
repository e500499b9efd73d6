{{ config(unique_key='payment_id') }}

with

source as (

    select * from {{ source('payments', 'payments') }}
    {{ changed_keys(source('payments', 'payments'), 'payment_id') }}

),

payment_statuses as (

    select * from {{ ref('payment_statuses') }}

),

payment_methods as (

    select * from {{ ref('payment_methods') }}

),

reporting_rates as (

    {{ reporting_rates() }}

),

latest as (

    {{ latest_row_per_key('source', 'payment_id') }}

),

final as (

    select
        latest.payment_id,
        latest.order_id,
        lower(trim(latest.payment_method)) as payment_method,
        payment_methods.method_group as payment_method_group,
        lower(trim(latest.payment_status)) as payment_status,
        payment_statuses.is_captured,
        payment_statuses.is_failed,
        payment_statuses.is_pending,
        latest.amount,
        coalesce(latest.refunded_amount, 0) as refunded_amount,
        upper(latest.currency) as currency,
        reporting_rates.reporting_rate,
        {{ to_reporting_currency('latest.amount', 'reporting_rates.reporting_rate') }} as amount_reporting,
        {{ to_reporting_currency('coalesce(latest.refunded_amount, 0)', 'reporting_rates.reporting_rate') }}
            as refunded_amount_reporting,
        latest.failure_reason,
        latest.created_at,
        {{ utc_date('latest.created_at') }} as created_date,
        latest.updated_at,
        latest._loaded_at as loaded_at
    from latest
    left join payment_methods
        on lower(trim(latest.payment_method)) = payment_methods.payment_method
    left join payment_statuses
        on lower(trim(latest.payment_status)) = payment_statuses.payment_status
    left join reporting_rates
        on upper(latest.currency) = reporting_rates.currency

)

select * from final
