import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import TackServer

@Suite("Live chat rules")
struct LiveChatRulesTests {
    @Test("likes: at most 100 a person in 10 s, the rest dropped; a new window after 10 s")
    func likeWindow() {
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        var w = LikeWindow(start: t0, count: 0)
        #expect(w.add(50, at: t0) == 50)
        #expect(w.add(50, at: t0.addingTimeInterval(5)) == 50)
        #expect(w.add(1, at: t0.addingTimeInterval(9)) == 0, "over the limit")
        #expect(w.add(30, at: t0.addingTimeInterval(10)) == 30, "a new window")
        #expect(w.count == 30 && w.start == t0.addingTimeInterval(10))
    }

    @Test("a comment's text is trimmed, 1 to 1,000 characters")
    func text() throws {
        #expect(try LiveComment.validText("  hi \n") == "hi")
        #expect(try LiveComment.validText(String(repeating: "字", count: 1000)).count == 1000)
        #expect(throws: AppError.self) { try LiveComment.validText(" \n ") }
        #expect(throws: AppError.self) { try LiveComment.validText(String(repeating: "a", count: 1001)) }
    }
}

@Suite("Live chat")
struct LiveChatTests {
    /// A live class for 7A and 7B, taught by Tom.
    static func run(_ engine: Engine, mode: TestingSetup = .router,
                    _ body: @escaping @Sendable (LiveFixture, String) async throws -> Void) async throws {
        try await LiveTests.run(engine, mode: mode) { f in
            let created = try await f.create(["title": "Maths", "groupIds": [f.groupA, f.groupB], "startNow": true])
            #expect(created.status == .created, "\(created.text)")
            try await body(f, created.json["id"].string!)
        }
    }

    static func post(_ f: LiveFixture, _ id: String, _ text: String, kind: String? = nil, as person: Person, key: String? = nil) async throws -> Reply {
        var headers = HTTPFields()
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        return try await f.api.call(.post, "\(f.base)/\(id)/comments", as: person, json: API.body(["text": text, "kind": kind]), headers: headers)
    }

    @Test("comments and questions: posted by those in the class, listed newest last in pages, questions alone; bad text refused; retries stored once", arguments: Engine.all)
    func comments(engine: Engine) async throws {
        try await Self.run(engine) { f, id in
            for text in ["   ", String(repeating: "a", count: 1001)] {
                let reply = try await Self.post(f, id, text, as: f.sue)
                #expect(reply.status == .unprocessableContent, "\(reply.text)")
                #expect(reply.json["errors"][0]["code"].string == "invalid_text")
            }
            let first = try await Self.post(f, id, "  Hello <b>all</b>  ", as: f.sue, key: "c1")
            #expect(first.status == .created, "\(first.text)")
            #expect(first.json["text"].string == "Hello <b>all</b>" && first.json["kind"].string == "comment" && first.json["seq"].int == 1)
            #expect(first.json["author"]["name"].string == "Sue" && first.json["answered"].bool == false)
            let retry = try await Self.post(f, id, "  Hello <b>all</b>  ", as: f.sue, key: "c1")
            #expect(retry.json["id"].string == first.json["id"].string, "a retry is stored once")
            #expect(try await Self.post(f, id, "Something else", as: f.sue, key: "c1").code == "idempotency_key_reused")

            let question = try await Self.post(f, id, "Why is the sky blue?", kind: "question", as: f.zoe)
            #expect(question.status == .created && question.json["kind"].string == "question", "\(question.text)")
            for n in 3...7 { #expect(try await Self.post(f, id, "Comment \(n)", as: n.isMultiple(of: 2) ? f.tom : f.sam).status == .created) }
            #expect(try await Self.post(f, id, "Me too", as: f.ann).status == .created, "an organisation admin takes part")

            // Pages: the latest first page, newest last; the cursor goes back in time.
            let page1 = try await f.call(.get, id, "/comments?limit=3", as: f.max).json
            #expect(page1["items"].array.map { $0["seq"].int } == [6, 7, 8])
            let page2 = try await f.call(.get, id, "/comments?limit=3&cursor=\(page1["nextCursor"].string!)", as: f.max).json
            #expect(page2["items"].array.map { $0["seq"].int } == [3, 4, 5])
            let page3 = try await f.call(.get, id, "/comments?limit=3&cursor=\(page2["nextCursor"].string!)", as: f.max).json
            #expect(page3["items"].array.map { $0["seq"].int } == [1, 2] && page3["nextCursor"].string == nil)
            let questions = try await f.call(.get, id, "/comments?questions=true", as: f.zoe).json
            #expect(questions["items"].array.map { $0["text"].string } == ["Why is the sky blue?"])
            #expect(try await f.call(.get, id, "/comments?cursor=abc", as: f.sue).code == "invalid_cursor")
            #expect(try await f.call(.get, id, "/comments?limit=0", as: f.sue).status == .badRequest)

            // Someone in the school but in neither group does not see the class.
            #expect(try await f.call(.get, id, "/comments", as: f.ola).status == .notFound)
            #expect(try await Self.post(f, id, "Hi", as: f.ola).status == .notFound)

            // After the class: readable, closed.
            #expect(try await f.call(.post, id, "/transition", as: f.tom, json: ["action": "end"]).status == .ok)
            #expect(try await Self.post(f, id, "Bye", as: f.sue).code == "not_live")
            #expect(try await Self.post(f, id, "Bye", as: f.tom).code == "not_live")
            #expect(try await f.call(.get, id, "/comments", as: f.sue).json["items"].array.count == 8)
        }
    }

    @Test("a scheduled class has no chat yet", arguments: Engine.all)
    func scheduled(engine: Engine) async throws {
        try await LiveTests.run(engine) { f in
            let later = ISO8601DateFormatter().string(from: LiveFixture.start.addingTimeInterval(3600))
            let id = try await f.create(["title": "Maths", "groupIds": [f.groupA], "scheduledAt": later]).json["id"].string!
            #expect(try await Self.post(f, id, "Early", as: f.sue).code == "not_live")
            #expect(try await f.call(.post, id, "/likes", as: f.sue, json: ["count": 1]).code == "not_live")
            #expect(try await f.call(.get, id, "/comments", as: f.sue).json["items"].array.isEmpty)
        }
    }

    @Test("the teacher and organisation admins mark questions answered; paused students are silent, the teacher is not; removed students are out", arguments: Engine.all)
    func rules(engine: Engine) async throws {
        try await Self.run(engine) { f, id in
            let question = try await Self.post(f, id, "What is 7 × 8?", kind: "question", as: f.sue).json["id"].string!
            let comment = try await Self.post(f, id, "Nice", as: f.sam).json["id"].string!
            #expect(try await f.call(.put, id, "/comments/\(question)/answered", as: f.sue).status == .forbidden)
            #expect(try await f.call(.put, id, "/comments/\(comment)/answered", as: f.tom).code == "not_a_question")
            #expect(try await f.call(.put, id, "/comments/\(UUID().uuidString)/answered", as: f.tom).status == .notFound)
            let answered = try await f.call(.put, id, "/comments/\(question)/answered", as: f.tom)
            #expect(answered.status == .ok, "\(answered.text)")
            #expect(answered.json["answered"].bool == true && answered.json["answeredBy"]["name"].string == "Tom" && answered.json["answeredAt"].string != nil)
            let listed = try await f.call(.get, id, "/comments?questions=true", as: f.sue).json["items"][0]
            #expect(listed["answered"].bool == true && listed["answeredBy"]["name"].string == "Tom")
            let unmarked = try await f.call(.delete, id, "/comments/\(question)/answered", as: f.ann).json
            #expect(unmarked["answered"].bool == false && unmarked["answeredBy"].isNull, "an organisation admin may too")

            // Paused: students neither post nor like; the teacher posts.
            #expect(try await f.call(.patch, id, "/controls", as: f.tom, json: ["paused": true]).status == .ok)
            #expect(try await Self.post(f, id, "Spam", as: f.sue).code == "class_paused")
            #expect(try await f.call(.post, id, "/likes", as: f.sue, json: ["count": 3]).code == "class_paused")
            #expect(try await Self.post(f, id, "Quiet, please", as: f.tom).status == .created)
            #expect(try await f.call(.put, id, "/comments/\(question)/answered", as: f.tom).status == .ok, "the teacher still marks")
            #expect(try await f.call(.patch, id, "/controls", as: f.tom, json: ["paused": false]).status == .ok)
            #expect(try await Self.post(f, id, "Thanks", as: f.sue).status == .created)

            // Removed: out of the chat entirely.
            #expect(try await f.call(.put, id, "/removals/\(f.max.userID)", as: f.tom).status == .noContent)
            #expect(try await Self.post(f, id, "Boo", as: f.max).code == "removed")
            #expect(try await f.call(.post, id, "/likes", as: f.max, json: ["count": 1]).code == "removed")
            #expect(try await f.call(.get, id, "/comments", as: f.max).code == "removed")
        }
    }

    @Test("likes add up across people and requests; 1–50 a request; at most 100 a person in 10 s", arguments: Engine.all)
    func likes(engine: Engine) async throws {
        try await Self.run(engine) { f, id in
            for count in [0, 51] {
                let reply = try await f.call(.post, id, "/likes", as: f.sue, json: ["count": count])
                #expect(reply.status == .unprocessableContent && reply.json["errors"][0]["code"].string == "invalid_count", "\(reply.text)")
            }
            #expect(try await f.call(.post, id, "/likes", as: f.sue, json: ["count": 30]).json["likes"].int == 30)
            let second = try await f.call(.post, id, "/likes", as: f.zoe, json: ["count": 5]).json
            #expect(second["likes"].int == 35 && second["accepted"].int == 5)
            #expect(try await f.call(.post, id, "/likes", as: f.sue, json: ["count": 50]).json["accepted"].int == 50)
            let capped = try await f.call(.post, id, "/likes", as: f.sue, json: ["count": 50]).json
            #expect(capped["accepted"].int == 20 && capped["likes"].int == 105, "Sue's 100 in 10 s")
            #expect(try await f.call(.post, id, "/likes", as: f.sue, json: ["count": 1]).json["accepted"].int == 0)
            f.time.advance(by: 10)
            #expect(try await f.call(.post, id, "/likes", as: f.sue, json: ["count": 2]).json["likes"].int == 107)
            #expect(try await f.call(.post, id, "/likes", as: f.tom, json: ["count": 1]).json["likes"].int == 108, "the teacher likes too")
            #expect(try await f.call(.get, id, "/comments", as: f.sam).json["likes"].int == 108)
        }
    }

    @Test("open class pages hear of comments, answered marks and likes, in every group of the class", arguments: Engine.all)
    func events(engine: Engine) async throws {
        try await Self.run(engine, mode: .live) { f, id in
            let sue = TestSocket(port: f.api.client.port!, token: f.sue.token)
            let zoe = TestSocket(port: f.api.client.port!, token: f.zoe.token)
            defer { sue.close(); zoe.close() }
            for socket in [sue, zoe] { await socket.start() }
            let question = try await Self.post(f, id, "<script>alert(1)</script>", kind: "question", as: f.sue).json
            let heard = await zoe.next(ofType: "live.comment")
            #expect(heard?["data"]["liveClassId"].string == id)
            #expect(heard?["data"]["comment"]["id"].string == question["id"].string)
            #expect(heard?["data"]["comment"]["text"].string == "<script>alert(1)</script>")
            #expect(heard?["conversationId"].string == f.groupB)
            #expect(try await f.call(.put, id, "/comments/\(question["id"].string!)/answered", as: f.tom).status == .ok)
            var answered = await sue.next(ofType: "live.comment")
            if answered?["data"]["comment"]["answered"].bool == false { answered = await sue.next(ofType: "live.comment") }
            #expect(answered?["data"]["comment"]["answered"].bool == true)
            #expect(try await f.call(.post, id, "/likes", as: f.sam, json: ["count": 7]).status == .ok)
            let liked = await zoe.next(ofType: "live.liked")
            #expect(liked?["data"]["likes"].int == 7 && liked?["data"]["liveClassId"].string == id)
            // A like storm: likes within the second after an announcement are announced once,
            // with the total, when that second is over (not one event per request to everyone).
            #expect(try await f.call(.post, id, "/likes", as: f.sue, json: ["count": 3]).json["likes"].int == 10)
            #expect(try await f.call(.post, id, "/likes", as: f.zoe, json: ["count": 2]).json["likes"].int == 12)
            // (When this runs within the second, no event says 10; `likeAnnouncements` below
            // checks the timing itself.)
            var storm = await zoe.next(ofType: "live.liked")
            while let total = storm?["data"]["likes"].int, total < 12 { storm = await zoe.next(ofType: "live.liked") }
            #expect(storm?["data"]["likes"].int == 12, "the total is announced: \(String(describing: storm))")
        }
    }

    @Test("likes are announced at most once a second per class: now after a quiet second, else once at its end")
    func likeAnnouncements() {
        let announcements = LikeAnnouncements()
        let a = LiveClass.ID(rawValue: UUID()), b = LiveClass.ID(rawValue: UUID())
        let t0 = ContinuousClock.now
        #expect(announcements.claim(a, at: t0) == .now)
        #expect(announcements.claim(b, at: t0) == .now, "each class its own")
        #expect(announcements.claim(a, at: t0 + .milliseconds(300)) == .later(.milliseconds(700)))
        #expect(announcements.claim(a, at: t0 + .milliseconds(600)) == .scheduled)
        announcements.flushed(a, at: t0 + .milliseconds(1000))
        #expect(announcements.claim(a, at: t0 + .milliseconds(1500)) == .later(.milliseconds(500)))
        announcements.flushed(a, at: t0 + .milliseconds(2000))
        #expect(announcements.claim(a, at: t0 + .milliseconds(3500)) == .now, "quiet for a second")
    }
}
