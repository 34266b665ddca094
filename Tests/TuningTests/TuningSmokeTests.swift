import Testing
@testable import Tuning

@Test func TuningModuleLinks() { #expect(Bool(true)) }
