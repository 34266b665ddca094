-- 0008_dataset_shapes: the shape of each row of a data set as an image, "height,width,channels"
-- (for example "28,28,1"); NULL for a table, whose shape is [features].
ALTER TABLE datasets ADD COLUMN shape text;
