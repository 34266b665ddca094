-- 0007_dataset_profiles: what an upload turned out to hold (header row, label values and counts,
-- whether the labels are sorted, feature ranges), as the JSON the upload answered with; NULL for
-- data sets stored before it and for built-ins.
ALTER TABLE datasets ADD COLUMN profile TEXT;
