"""A manager's day: Today and tomorrow's plan, follow-ups of warm clients, reminders."""
