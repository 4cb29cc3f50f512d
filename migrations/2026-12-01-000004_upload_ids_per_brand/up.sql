-- Uploads are numbered per brand (1, 2, 3 ... in each brand), and a number is
-- used only by an upload that is kept: the app assigns the brand's next id in
-- the transaction that stores the upload, under a per-brand lock
-- (store::uploads::create). One identity for all brands showed every brand
-- gaps in its upload history (other brands' uploads, and its own refused
-- files, whose rolled-back inserts used identity values up). The key was
-- (brand_id, id) already, and every reference to an upload carries its
-- brand_id. Existing ids are kept (bookmarks and history rows name them).
ALTER TABLE uploads ALTER COLUMN id DROP IDENTITY;
