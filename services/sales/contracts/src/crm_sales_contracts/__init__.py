"""Contracts of the sales service: its events and the schemas of its RPC methods, by area.

`import crm_sales_contracts as c` gives every public name (`c.CREATE_LEAD`, `c.Lead`); importing the
package registers its events and RPCs (crm_common.contracts.registry).
"""
from crm_sales_contracts.field_types import *  # noqa: F401,F403
from crm_sales_contracts.accounts import *  # noqa: F401,F403
from crm_sales_contracts.opportunities import *  # noqa: F401,F403
from crm_sales_contracts.leads import *  # noqa: F401,F403
from crm_sales_contracts.territories import *  # noqa: F401,F403
from crm_sales_contracts.orders import *  # noqa: F401,F403
from crm_sales_contracts.sales_contracts import *  # noqa: F401,F403
from crm_sales_contracts.activities import *  # noqa: F401,F403
from crm_sales_contracts.targets import *  # noqa: F401,F403
from crm_sales_contracts.expenses import *  # noqa: F401,F403
from crm_sales_contracts.settings import *  # noqa: F401,F403
from crm_sales_contracts.operations import *  # noqa: F401,F403
from crm_sales_contracts.subscriptions import *  # noqa: F401,F403
from crm_sales_contracts.partners import *  # noqa: F401,F403
from crm_sales_contracts.quote_approvals import *  # noqa: F401,F403
from crm_sales_contracts.external_ids import *  # noqa: F401,F403
from crm_sales_contracts.custom_fields import *  # noqa: F401,F403
from crm_sales_contracts.record_comments import *  # noqa: F401,F403
from crm_sales_contracts.search import *  # noqa: F401,F403
