import Testing
@testable import Learning

@Test func LearningModuleLinks() { #expect(Bool(true)) }
