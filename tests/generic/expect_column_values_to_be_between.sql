{#-
    Fails for every row whose column_name lies outside [min_value, max_value] (or the open interval when
    strictly=true). Same name, arguments and defaults as dbt_expectations.expect_column_values_to_be_between.
    min_value and max_value are SQL expressions, inlined as written: quote literals yourself ("'2024-01-01'").
    Rows where column_name is null pass, as in dbt-expectations.
-#}
{% test expect_column_values_to_be_between(
    model,
    column_name,
    min_value=None,
    max_value=None,
    row_condition=None,
    strictly=False
) %}

{%- if min_value is none and max_value is none -%}
    {{ exceptions.raise_compiler_error(
        "expect_column_values_to_be_between: give min_value, max_value or both (column " ~ column_name ~ ")."
    ) }}
{%- endif -%}

{%- set or_equal = "" if strictly else "=" -%}
{%- set bounds = [] -%}
{%- if min_value is not none -%}
    {%- do bounds.append(column_name ~ " >" ~ or_equal ~ " " ~ min_value) -%}
{%- endif -%}
{%- if max_value is not none -%}
    {%- do bounds.append(column_name ~ " <" ~ or_equal ~ " " ~ max_value) -%}
{%- endif %}

{{ rows_failing(model, bounds | join(" and "), row_condition) }}

{% endtest %}
