import { describe, expect, test } from "vitest";
import { codes, fieldOf, freshStore, run, sdlOf, shown } from "./schema-helpers.ts";

const CREATE = `
  mutation Create($input: CreateUserInput!) {
    createUser(input: $input) { id name email }
  }
`;

const REVIEW = `
  mutation Review($userId: ID!, $input: AddReviewInput!) {
    addReview(userId: $userId, input: $input) { id rating comment }
  }
`;

describe("Step 1: The schema and its resolvers", () => {
  describe("mutations", () => {
    test.each([
      ["Mutation", "createUser", "User", ["input: CreateUserInput!"]],
      ["Mutation", "addReview", "Review", ["userId: ID!", "input: AddReviewInput!"]],
      ["CreateUserInput", "name", "String!", []],
      ["CreateUserInput", "email", "String!", []],
      ["AddReviewInput", "rating", "Int!", []],
      ["AddReviewInput", "comment", "String!", []],
    ])("%s.%s is %s", (typeName, fieldName, type, args) => {
      expect(
        fieldOf(typeName, fieldName),
        `${typeName}.${fieldName}${args.length ? `(${args.join(", ")})` : ""}: ${type} is not ` +
          `in your schema (a mutation's result is nullable, so that a refused one is null beside ` +
          `its error and the others still answer):\n${sdlOf(typeName)}`,
      ).toEqual({ type, args });
    });

    test("createUser adds the user to the store and answers it with its new id", async () => {
      const store = freshStore();
      const input = { name: "Grace Hopper", email: "grace@example.com" };
      const result = await run(CREATE, { store, variables: { input } });
      expect(result, shown(result)).toEqual({ data: { createUser: { id: "141", ...input } } });
      expect(store.findUserByEmail("grace@example.com")?.name).toBe("Grace Hopper");
    });

    test("createUser stores the input as the check parsed it: the name trimmed", async () => {
      const store = freshStore();
      const input = { name: "  Ada  ", email: "ada@example.com" };
      const result = await run(CREATE, { store, variables: { input } });
      expect(
        result.data?.createUser?.name,
        `UserInputSchema trims the name: store what it parsed (parsed.data), not the raw input\n${shown(result)}`,
      ).toBe("Ada");
      expect(store.findUserByEmail("ada@example.com")?.name, "the stored name").toBe("Ada");
    });

    test.each([
      ["an email that is not one", { name: "Grace Hopper", email: "grace" }],
      ["an empty name", { name: "", email: "grace@example.com" }],
      ["a name of spaces", { name: "   ", email: "grace@example.com" }],
    ])(
      "createUser with %s is null, with a BAD_USER_INPUT error at its path, and nothing created",
      async (_what, input) => {
        const store = freshStore();
        const result = await run(CREATE, { store, variables: { input } });
        expect(
          result,
          `the input is refused: createUser is null, and its error says why, with ` +
            `extensions.code "BAD_USER_INPUT" and the path ["createUser"]\n${shown(result)}`,
        ).toMatchObject({
          data: { createUser: null },
          errors: [{ path: ["createUser"], extensions: { code: "BAD_USER_INPUT" } }],
        });
        expect(result.errors).toHaveLength(1);
        expect(store.queryLog, "validate before you write").not.toContain("createUser");
      },
    );

    test("createUser with an email another user has is EMAIL_TAKEN", async () => {
      const result = await run(CREATE, {
        store: freshStore(),
        variables: { input: { name: "Ada Again", email: "ada.lovelace.123@example.com" } },
      });
      expect(result, shown(result)).toMatchObject({
        data: { createUser: null },
        errors: [{ path: ["createUser"], extensions: { code: "EMAIL_TAKEN" } }],
      });
    });

    test("in one request, the refused mutation is null and the valid ones around it are done and answered", async () => {
      const store = freshStore();
      const result = await run(
        `mutation {
          first: createUser(input: { name: "Grace Hopper", email: "grace@example.com" }) { id }
          refused: createUser(input: { name: "Nobody", email: "not an email" }) { id }
          third: createUser(input: { name: "Alan Turing", email: "alan@example.com" }) { id }
        }`,
        { store },
      );
      expect(
        result.data,
        `partial results (GraphQL spec §7.1.2): one field's error is that field's null, not the ` +
          `request's end\n${shown(result)}`,
      ).toEqual({ first: { id: "141" }, refused: null, third: { id: "142" } });
      expect(result.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([
        [["refused"], "BAD_USER_INPUT"],
      ]);
    });

    test("a refused addReview beside a valid one: the valid review is still added and answered", async () => {
      const result = await run(
        `mutation {
          ok: addReview(userId: "123", input: { rating: 5, comment: "Fine" }) { rating }
          bad: addReview(userId: "123", input: { rating: 9, comment: "Too fine" }) { rating }
        }`,
        { store: freshStore() },
      );
      expect(result.data, shown(result)).toEqual({ ok: { rating: 5 }, bad: null });
      expect(codes(result), `extensions.code of the error\n${shown(result)}`).toEqual([
        "BAD_USER_INPUT",
      ]);
    });

    test("addReview adds a review to the user's and answers it", async () => {
      const store = freshStore();
      const input = { rating: 4, comment: "Does what it says." };
      const result = await run(REVIEW, { store, variables: { userId: "123", input } });
      expect(result.errors, shown(result)).toBeUndefined();
      expect(result.data.addReview).toMatchObject(input);
      expect(store.reviewsOf("123").map((r) => r.id)).toContain(result.data.addReview.id);
    });

    test.each([0, 6, -3])(
      "addReview with rating %i is BAD_USER_INPUT, and nothing added",
      async (rating) => {
        const store = freshStore();
        const result = await run(REVIEW, {
          store,
          variables: { userId: "123", input: { rating, comment: "x" } },
        });
        expect(
          result,
          `a rating is 1 to 5: Int! lets ${rating} through, the resolver must not\n${shown(result)}`,
        ).toMatchObject({
          data: { addReview: null },
          errors: [{ path: ["addReview"], extensions: { code: "BAD_USER_INPUT" } }],
        });
        expect(store.reviewsOf("123")).toHaveLength(3);
      },
    );

    test("addReview for a user the store does not have is NOT_FOUND", async () => {
      const result = await run(REVIEW, {
        store: freshStore(),
        variables: { userId: "999", input: { rating: 5, comment: "x" } },
      });
      expect(result, shown(result)).toMatchObject({
        data: { addReview: null },
        errors: [{ path: ["addReview"], extensions: { code: "NOT_FOUND" } }],
      });
    });

    test("an input variable without a required field is refused before anything runs", async () => {
      const store = freshStore();
      const result = await run(CREATE, { store, variables: { input: { name: "No Email" } } });
      expect(
        result.data,
        `CreateUserInput's email is String!: the variable cannot be coerced, so there is no ` +
          `data at all, only the error\n${shown(result)}`,
      ).toBeUndefined();
      expect(store.queryCount).toBe(0);
    });
  });
});
