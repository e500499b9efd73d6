{#-
    Fails for every currency with rows whose column_name (a reporting rate) is null: no exchange rate was
    in force on the row's business date (`date_column`), because the currency's rates start later or never
    came, or the reporting currency's did not. One row per currency with its row count, its first and last
    such date, and its first delivered rate. While it runs, the error names each currency, its dates and
    the fix, and stops the build: every converted figure of those rows would be wrong.
-#}
{% test has_exchange_rate(model, column_name, currency_column, date_column) %}

{%- set failing -%}
    select
        unrated.{{ currency_column }} as currency,
        count(*) as row_count,
        min(unrated.{{ date_column }}) as first_unrated_on,
        max(unrated.{{ date_column }}) as last_unrated_on,
        max(
            case
                when delivered.first_rate_date is null then 'no rate for it was ever delivered'
                else 'its first rate is for ' || cast(delivered.first_rate_date as {{ dbt.type_string() }})
            end
        ) as note
    from (select * from {{ model }}) as unrated
    left join (
        select
            currency,
            min(rate_date) as first_rate_date
        from {{ ref('stg_fx__rates') }}
        group by currency
    ) as delivered
        on unrated.{{ currency_column }} = delivered.currency
    where unrated.{{ column_name }} is null
    group by unrated.{{ currency_column }}
{%- endset -%}
{{ explain_failures(
    failing,
    column_name ~ ' is missing: no exchange rate on the day of these amounts',
    "Deliver the missing days' rates under raw/fx_rates/ (docs/source-contract.md, fx_rates)"
    ~ ("" if var('reporting_currency') == 'USD' else
        ", and those of the reporting currency " ~ var('reporting_currency') ~ " for the same days")
    ~ "; then load and build again."
) }}

{{ failing }}

{% endtest %}
