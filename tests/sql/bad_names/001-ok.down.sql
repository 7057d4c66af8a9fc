down;
