import { Type } from '@sinclair/typebox';

export const Meta = Type.Object({ timestamp: Type.Number(), transactionId: Type.String() });

export const ErrorResponse = Type.Object({
  meta: Meta,
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Array(Type.Object({ field: Type.String(), message: Type.String() })),
  }),
});
