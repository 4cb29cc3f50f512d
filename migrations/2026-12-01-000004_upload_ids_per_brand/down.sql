ALTER TABLE uploads ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY;
SELECT setval(pg_get_serial_sequence('uploads', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM uploads), false);
