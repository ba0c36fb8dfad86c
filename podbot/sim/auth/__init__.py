"""Who is asking and what they may do: authentication, RBAC and impersonation."""
