"""Use cases of kaohe: plain arguments in, plain values or domain errors out; no Telegram."""
