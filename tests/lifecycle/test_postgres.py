"""The seed scenarios and the two-worker tests again, on PostgreSQL (FOR UPDATE SKIP LOCKED,
its casts and its timestamps): the same tests with the app on a fresh PostgreSQL database."""

from __future__ import annotations

import pytest

from tests.lifecycle.test_mass_claim import (  # noqa: F401 - collected here on PostgreSQL
    test_a_claim_whose_worker_died_is_taken_again_after_the_interval,
    test_two_workers_read_each_waiting_step_once_per_interval,
)
from tests.lifecycle.test_mass_task import (  # noqa: F401 - collected here on PostgreSQL
    test_a_task_with_a_mass_reports_the_mass_result_and_stays_a_task,
)
from tests.lifecycle.test_pool import (  # noqa: F401 - collected here on PostgreSQL
    test_claims_within_the_daily_limit_move_the_customer_in_wecom,
)
from tests.lifecycle.test_seed_scenarios import (  # noqa: F401 - collected here on PostgreSQL
    test_high_intent_without_followup_for_3_days_goes_to_the_pool,
    test_icebreak_welcome_task_article_then_tag_and_followup,
    test_nothing_goes_out_outside_the_send_window,
    test_silent_customers_get_care_then_a_coupon_unless_they_answer,
    test_warming_starts_when_a_rep_tags_high_intent,
)
from tests.lifecycle.test_workers import (  # noqa: F401 - collected here on PostgreSQL
    test_two_workers_start_and_run_each_step_once,
)


@pytest.fixture
def overrides(pg_url: str) -> dict[str, object]:
    """The app under test stores in PostgreSQL."""
    return {"database_url": pg_url}
