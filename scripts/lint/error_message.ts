/**
 * Lint rule `snowflake/error-message` (scripts/lint/plugin.ts): a caught
 * value becomes a message through lib/util/errors.ts's `errorMessage(e)`,
 * the one helper, not by a cast (`(e as Error).message`, wrong when a string
 * or a number was thrown) nor by a hand-written copy of the helper
 * (`e instanceof Error ? e.message : String(e)`). Applies everywhere but the
 * helper itself.
 */

const HELPER = "lib/util/errors.ts";

/** The rule; see the module doc. */
export const errorMessageRule: Deno.lint.Rule = {
  create(context) {
    const path = context.filename.replaceAll("\\", "/");
    if (path === HELPER || path.endsWith(`/${HELPER}`)) return {};
    const hint = 'import { errorMessage } from "lib/util/errors.ts" and write errorMessage(e)';
    return {
      TSAsExpression(node) {
        const type = node.typeAnnotation;
        if (type.type !== "TSTypeReference" || type.typeName.type !== "Identifier") return;
        if (type.typeName.name !== "Error" && !type.typeName.name.endsWith("Error")) return;
        const parent = node.parent;
        if (
          parent.type === "MemberExpression" && parent.object === node && !parent.computed &&
          parent.property.type === "Identifier" && parent.property.name === "message"
        ) {
          context.report({
            node: parent,
            message: `(… as ${type.typeName.name}).message casts a caught value`,
            hint,
          });
        }
      },
      ConditionalExpression(node) {
        const { test, consequent, alternate } = node;
        if (test.type !== "BinaryExpression" || test.operator !== "instanceof") return;
        if (test.right.type !== "Identifier" || test.right.name !== "Error") return;
        const isMessage = consequent.type === "MemberExpression" && !consequent.computed &&
          consequent.property.type === "Identifier" && consequent.property.name === "message";
        const isString = alternate.type === "CallExpression" && alternate.callee.type === "Identifier" &&
          alternate.callee.name === "String";
        if (isMessage && isString) {
          context.report({ node, message: "a copy of errorMessage()", hint });
        }
      },
    };
  },
};
