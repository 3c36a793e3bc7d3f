"""The date rules now live in `tui_crm.text.dates`; this name stays until the imports move
(the module itself is the same object, so patches and private names keep working)."""

import sys

from tui_crm.text import dates as _dates

sys.modules[__name__] = _dates
