/// Data sets stored in chunks as an upload is parsed, so that neither the upload nor a job ever
/// holds a data set's stored form whole.
///
/// An upload writes its chunks under the id it will have (`putDatasetChunk`, each in its own
/// short transaction, invisible to every reader until the data set row exists), then
/// `commitChunkedDataset` makes them a data set in one transaction, or answers the same owner's
/// data set with the same SHA-256 and drops them. A failed upload calls `discardDatasetChunks`;
/// deleting a data set deletes its chunks (a trigger of migration 0005).
public protocol DatasetChunkStore: Sendable {
    /// Stores chunk `seq` (0, 1, 2, ...) of the data set `id` being uploaded.
    func putDatasetChunk(id: String, seq: Int, content: [UInt8]) throws
    /// Makes the chunks written under `new.id` a data set (`new.content` is empty), recording
    /// `chunkedBytes` for the storage quota; a dataset of the same owner with the same SHA-256
    /// (or a built-in one) is answered instead and the chunks are dropped.
    func commitChunkedDataset(_ new: NewDataset, chunkedBytes: Int, nowMs: Int64) throws -> InsertDatasetOutcome
    /// Drops the chunks of an upload that did not complete.
    func discardDatasetChunks(id: String) throws
    /// Chunk `seq` of data set `id`, or nil past its last one.
    func datasetChunk(id: String, seq: Int) throws -> [UInt8]?
}
