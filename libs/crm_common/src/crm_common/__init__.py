"""The small shared kernel of the CRM suite. No business rules live here."""
import warnings

# eventlet announces its deprecation on import; it is expected with nameko 2.14.
warnings.filterwarnings("ignore", message=r"(?s).*[Ee]ventlet is deprecated")
warnings.filterwarnings("ignore", category=DeprecationWarning, module="eventlet")
