{#-
    Fails when the latest value of column_name is older than now minus `interval` `datepart`s (for example
    datepart: day, interval: 1 fails when nothing is newer than a day). Same name, arguments and defaults as
    dbt_expectations.expect_row_values_to_have_recent_data.

    As in dbt-expectations, values later than now are left out of the max (a wrong future date cannot hide
    staleness), and a table with no rows (or none kept by row_condition) fails. The value and now are both cast
    to dbt.type_timestamp() in the warehouse session: a timestamp with time zone column is compared correctly
    on every adapter; a timestamp without time zone column is read as wall-clock time of the session's time
    zone (UTC on Snowflake and Redshift, the session TimeZone on DuckDB and Postgres).
    Returns one row when failing: the latest value (null when there is none) and the threshold it missed.
-#}
{% test expect_row_values_to_have_recent_data(
    model,
    column_name,
    datepart,
    interval,
    row_condition=None
) %}

{%- if interval is not integer or interval is boolean or interval < 0 -%}
    {{ exceptions.raise_compiler_error(
        "expect_row_values_to_have_recent_data: interval must be a whole number of " ~ datepart
        ~ "s, at least 0; got '" ~ interval ~ "' (column " ~ column_name ~ ")."
    ) }}
{%- endif -%}

{%- set now = dbt.cast(dbt.current_timestamp(), dbt.type_timestamp()) | trim -%}
{%- set column_value = dbt.cast(column_name, dbt.type_timestamp()) | trim -%}
{%- set threshold = dbt.cast(dbt.dateadd(datepart, -1 * interval, now) | trim, dbt.type_timestamp()) | trim %}

with latest as (

    select
        max({{ column_value }}) as latest_value
    from {{ model }}
    where
        {{ column_value }} <= {{ now }}
        {%- if row_condition %}
        and ({{ row_condition }})
        {%- endif %}

),

final as (

    select
        latest_value,
        {{ threshold }} as threshold_value
    from latest

)

select *
from final
where
    latest_value is null
    or latest_value < threshold_value

{% endtest %}
