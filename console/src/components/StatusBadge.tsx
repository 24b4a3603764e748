import { Badge } from '@mantine/core';
import { statusColor } from '../format.js';

export function StatusBadge({ status }: { status: string }) {
  return (
    <Badge color={statusColor(status)} variant="outline" data-status={status}>
      {status}
    </Badge>
  );
}
