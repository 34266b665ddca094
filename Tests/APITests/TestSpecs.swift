/// Job specs sized for tests: each small one runs in well under a second in a debug build.
enum TestSpecs {
    /// Four history items (meta.iterations 3), milliseconds each.
    static let small = small(name: "small")

    /// `small` under another name, so that its body differs (distinct idempotent submissions).
    static func small(name: String) -> String {
        #"{"name":"\#(name)","dataset":{"name":"digits"},"split":{"train":200,"validation":100},"#
            + #""model":{"hidden":[8]},"training":{"iterations":10,"batch_size":20},"meta":{"iterations":3}}"#
    }

    /// A job on an uploaded data set.
    static func onDataset(_ id: String, train: Int, validation: Int) -> String {
        #"{"name":"uploaded","dataset":{"id":"\#(id)"},"split":{"train":\#(train),"validation":\#(validation)},"#
            + #""model":{"hidden":[4]},"training":{"iterations":5,"batch_size":4},"meta":{"iterations":2}}"#
    }

    /// About 0.35 s per meta-iteration in a debug build, 11 items: several seconds in all, long
    /// enough to interrupt a process in the middle of it.
    static let recovery =
        #"{"name":"recovery","dataset":{"name":"digits"},"split":{"train":1000,"validation":500},"#
        + #""model":{"hidden":[50]},"training":{"iterations":100,"batch_size":100},"meta":{"iterations":10}}"#

    /// Would run for minutes: only ever cancelled.
    static let endless =
        #"{"name":"endless","dataset":{"name":"digits"},"split":{"train":1000,"validation":500},"#
        + #""model":{"hidden":[50]},"training":{"iterations":100,"batch_size":100},"meta":{"iterations":500}}"#
}
