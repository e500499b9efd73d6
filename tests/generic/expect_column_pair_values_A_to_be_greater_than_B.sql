{#-
    Fails for every row where column_A is not greater than column_B (not greater than or equal to, with
    or_equal=true). Same name, arguments and defaults as dbt_expectations.expect_column_pair_values_A_to_be_greater_than_B.
    column_A and column_B are SQL expressions inlined as written. Rows where either is null pass, as in
    dbt-expectations.
-#}
{% test expect_column_pair_values_A_to_be_greater_than_B(
    model,
    column_A,
    column_B,
    or_equal=False,
    row_condition=None
) %}

{%- set operator = ">=" if or_equal else ">" %}

{{ rows_failing(model, column_A ~ " " ~ operator ~ " " ~ column_B, row_condition) }}

{% endtest %}
