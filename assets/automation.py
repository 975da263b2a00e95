"""When activation assets run on their own: the automation sensor evaluates these conditions."""

import dagster as dg

# As soon as the marts an asset reads were rebuilt and their blocking checks passed (dbt tests that
# fail with severity error block; a failed upstream check keeps the old outputs in place).
AFTER_UPSTREAM_REBUILT_AND_CHECKED = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
)
