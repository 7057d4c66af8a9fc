CREATE INDEX admin_widgets_name_idx ON admin_widgets (name);
