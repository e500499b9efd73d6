{#-
    Fails for every value of column_name that the relation `to` (a seed of codes) does not list in `field`:
    one row per unknown value with its row count and the first and last `date_column` it was seen on. While
    it runs, the message names each value and `fix`: as an error (a code whose meaning decides whether money
    counts) it stops the build there; as a warning (a code shown as `unknown`, no number wrong) it is logged.
    Nulls pass. A relationships test that explains itself; dq_unknown_codes lists the same values.
-#}
{% test known_codes(model, column_name, to, field, date_column, fix) %}

{%- set failing = unknown_codes(model, column_name, to, field, date_column) -%}
{{ explain_failures(failing, column_name ~ ' has codes that ' ~ to.identifier ~ ' does not list', fix) }}

{{ failing }}

{% endtest %}
