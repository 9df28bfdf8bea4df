"""Contracts of the analytics service: the events it emits and the schemas of its RPC methods."""
from crm_common.contracts.platform import privacy_part_completed

from crm_analytics_contracts.figures import (ACTIVITIES, FORECAST, FUNNEL, GET_REBUILD, MARKETING,  # noqa: F401
                                             CHURN_RISK, CLV, COHORTS, KPIS, RFM, FigureQuery, Figures, ForecastQuery,
                                             PIPELINE, REBUILD, SALES_CYCLE, SERVICE, STATUS, SUBSCRIPTIONS,
                                             WIN_RATE)
from crm_analytics_contracts.customers import CUSTOMER, CUSTOMER_PROFILE, CUSTOMER_TIMELINE  # noqa: F401
from crm_analytics_contracts.reports import (CREATE_DASHBOARD, CREATE_REPORT, DELETE_DASHBOARD,  # noqa: F401
                                             DELETE_REPORT, GET_DASHBOARD, GET_REPORT, LIST_DASHBOARDS, LIST_REPORTS,
                                             RUN_REPORT, UPDATE_DASHBOARD, UPDATE_REPORT)

PRIVACY_PART_COMPLETED = privacy_part_completed("analytics")
