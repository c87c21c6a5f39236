"""The Settings pages through which business admins manage people and access: users,
departments, teams, roles with their object permissions and field security, territories,
sharing defaults and rules, the security log and "explain access".

Every page is for access managers (``visibility.manages_access``; others get the 403 page).
Reads go through ``identity.queries``, writes through ``identity.services``, whose validation
errors are shown next to the field they name, with nothing saved. The templates extend the web
shell's ``web/settings_base.html`` by name; ``identity.pages`` declares the URLs and the
Settings menu entries, which ``accord.web`` reads at start-up.
"""
