"""Customer flows: welcome, 微信客服 (kf), keyword-rule actions, archive ingest helpers."""
