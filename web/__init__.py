"""The dashboard: a Telegram Mini App and a desk page over the services the bot uses."""
