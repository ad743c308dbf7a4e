/**
 * The API's representations, as zod schemas: what a client may send (validated on the way in)
 * and what the server sends back (the shapes the OpenAPI document of Step 5 is generated from).
 * One definition serves both, so the document cannot drift from the code.
 */
import { z } from "zod";

/** An id as the store makes them: digits, as a string (ids are names, not numbers to add). */
export const IdSchema = z.string().regex(/^[0-9]+$/, "an id is digits");

/** What a client sends to create a user (POST) or to replace one (PUT): every field, no id. */
export const UserInputSchema = z
  .object({
    name: z.string().trim().min(1, "a name is not empty").max(100),
    email: z.email().max(254),
  })
  .strict()
  .meta({ id: "UserInput" });
export type UserInput = z.infer<typeof UserInputSchema>;

/**
 * A JSON Merge Patch of a user (RFC 7396): each member present replaces that field. A member set
 * to null would remove the field, and no field of a user may be removed, so null is refused.
 */
export const UserPatchSchema = UserInputSchema.partial().meta({ id: "UserPatch" });
export type UserPatch = z.infer<typeof UserPatchSchema>;

export const UserSchema = z
  .object({ id: IdSchema, name: z.string(), email: z.string() })
  .meta({ id: "User" });

export const OrderItemSchema = z
  .object({ productName: z.string(), quantity: z.int().min(1) })
  .meta({ id: "OrderItem" });

export const OrderSchema = z
  .object({
    id: IdSchema,
    userId: IdSchema,
    placedAt: z.iso.datetime(),
    total: z.number().nonnegative(),
    items: z.array(OrderItemSchema),
  })
  .meta({ id: "Order" });

export const ReviewSchema = z
  .object({
    id: IdSchema,
    userId: IdSchema,
    rating: z.int().min(1).max(5),
    comment: z.string(),
  })
  .meta({ id: "Review" });

/**
 * One page of a list. `next` is the opaque cursor of the page after it (also sent in the `Link`
 * header, RFC 8288), or null on the last page.
 */
export const UserPageSchema = z
  .object({ data: z.array(UserSchema), next: z.string().nullable() })
  .meta({ id: "UserPage" });

/** The query of a list: `limit` (1 to 100, 20 when absent) and the cursor a previous page gave. */
export const PageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).optional(),
});

/** A user's orders: the most recent `last` of them (all when absent). */
export const OrdersQuerySchema = z.object({
  last: z.coerce.number().int().min(1).max(100).optional(),
});

/** One invalid field of a request, as RFC 9457 §3 suggests an extension member for it. */
export const InvalidParamSchema = z
  .object({
    /** A JSON Pointer (RFC 6901) into the request body, or the query parameter's name. */
    pointer: z.string(),
    reason: z.string(),
  })
  .meta({ id: "InvalidParam" });

/** A problem details document (RFC 9457 §3.1), served as application/problem+json. */
export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int().min(400).max(599),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z.array(InvalidParamSchema).optional(),
  })
  .meta({ id: "Problem" });
export type Problem = z.infer<typeof ProblemSchema>;
