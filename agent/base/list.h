/* Intrusive doubly linked lists, as in systemd's list.h: an item has the fields prev and next
 * (pointers to its own type), a list is the pointer to its first item. */
#pragma once

#include <stddef.h>

/* Puts item first in the list head. */
#define LIST_PREPEND(head, item)                                \
        do {                                                    \
                __typeof__(item) _item = (item);                \
                _item->prev = NULL;                             \
                _item->next = (head);                           \
                if (_item->next)                                \
                        _item->next->prev = _item;              \
                (head) = _item;                                 \
        } while (0)

/* Puts item last in the list head, whose last item is tail. */
#define LIST_APPEND(head, tail, item)                           \
        do {                                                    \
                __typeof__(item) _item = (item);                \
                _item->next = NULL;                             \
                _item->prev = (tail);                           \
                if (_item->prev)                                \
                        _item->prev->next = _item;              \
                else                                            \
                        (head) = _item;                         \
                (tail) = _item;                                 \
        } while (0)

/* Takes item out of the list head. */
#define LIST_REMOVE(head, item)                                 \
        do {                                                    \
                __typeof__(item) _item = (item);                \
                if (_item->prev)                                \
                        _item->prev->next = _item->next;        \
                else                                            \
                        (head) = _item->next;                   \
                if (_item->next)                                \
                        _item->next->prev = _item->prev;        \
                _item->prev = _item->next = NULL;               \
        } while (0)
