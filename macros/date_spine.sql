{% macro date_spine(start_date, end_date) -%}
    {#- One row per day from start_date to end_date (SQL date expressions), column `date_day`, for up to
        10,000 days; built from cross joins of digits, which every warehouse runs. -#}
    with digits as (
        {% for digit in range(10) -%}
        select {{ digit }} as n{% if not loop.last %} union all{% endif %}
        {% endfor %}
    ),

    day_numbers as (
        select ones.n + 10 * tens.n + 100 * hundreds.n + 1000 * thousands.n as day_number
        from digits as ones
        cross join digits as tens
        cross join digits as hundreds
        cross join digits as thousands
    )

    select cast({{ dbt.dateadd('day', 'day_number', start_date) }} as date) as date_day
    from day_numbers
    where {{ dbt.dateadd('day', 'day_number', start_date) }} <= {{ end_date }}
{%- endmacro %}
